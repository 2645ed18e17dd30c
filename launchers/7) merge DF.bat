@echo off
rem 7) merge DF  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" merge DF %*
) else (
  python -m app merge DF %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
