@echo off
rem 4) data_src extract faces fast  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" extract src --detector fast %*
) else (
  python -m app extract src --detector fast %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
