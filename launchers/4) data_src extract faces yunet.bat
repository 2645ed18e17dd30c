@echo off
rem 4) data_src extract faces yunet  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" extract src --detector yunet %*
) else (
  python -m app extract src --detector yunet %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
