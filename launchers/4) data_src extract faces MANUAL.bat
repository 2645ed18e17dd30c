@echo off
rem 4) data_src extract faces MANUAL  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" extract src --detector manual %*
) else (
  python -m app extract src --detector manual %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
