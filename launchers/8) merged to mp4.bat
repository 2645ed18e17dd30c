@echo off
rem 8) merged to mp4  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" video assemble --format mp4 %*
) else (
  python -m app video assemble --format mp4 %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
