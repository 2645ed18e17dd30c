@echo off
rem 6) train SAE  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" train SAE %*
) else (
  python -m app train SAE %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
