@echo off
rem 8) merged to avi  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" video assemble --format avi %*
) else (
  python -m app video assemble --format avi %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
