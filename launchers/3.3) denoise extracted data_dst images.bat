@echo off
rem 3.3) denoise extracted data_dst images  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" video denoise dst %*
) else (
  python -m app video denoise dst %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
