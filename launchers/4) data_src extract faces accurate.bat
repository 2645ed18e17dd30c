@echo off
rem 4) data_src extract faces accurate  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" extract src --detector accurate %*
) else (
  python -m app extract src --detector accurate %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
