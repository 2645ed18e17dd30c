@echo off
rem 8) merged to mp4 lossless with alpha  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" video assemble --format mp4_alpha %*
) else (
  python -m app video assemble --format mp4_alpha %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
