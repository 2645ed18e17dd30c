@echo off
rem 6) train LIAEF128  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" train LIAEF128 %*
) else (
  python -m app train LIAEF128 %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
