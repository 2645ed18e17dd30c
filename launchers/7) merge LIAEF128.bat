@echo off
rem 7) merge LIAEF128  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" merge LIAEF128 %*
) else (
  python -m app merge LIAEF128 %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
