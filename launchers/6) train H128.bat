@echo off
rem 6) train H128  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" train H128 %*
) else (
  python -m app train H128 %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
