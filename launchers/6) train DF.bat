@echo off
rem 6) train DF  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" train DF %*
) else (
  python -m app train DF %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
