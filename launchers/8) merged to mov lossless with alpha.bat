@echo off
rem 8) merged to mov lossless with alpha  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" video assemble --format mov_alpha %*
) else (
  python -m app video assemble --format mov_alpha %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
