@echo off
rem 9) demo - whole pipeline on the sample workspace  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" demo %*
) else (
  python -m app demo %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
