@echo off
rem 7) merge SAE  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" merge SAE %*
) else (
  python -m app merge SAE %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
