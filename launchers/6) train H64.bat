@echo off
rem 6) train H64  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" train H64 %*
) else (
  python -m app train H64 %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
