@echo off
rem 1) clear workspace  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" workspace clear %*
) else (
  python -m app workspace clear %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
