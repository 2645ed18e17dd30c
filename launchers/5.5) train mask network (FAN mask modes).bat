@echo off
rem 5.5) train mask network (FAN mask modes)  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" mask train %*
) else (
  python -m app mask train %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
