@echo off
rem 3.1) cut video (drop video on me)  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" video cut %*
) else (
  python -m app video cut %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
