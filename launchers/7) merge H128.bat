@echo off
rem 7) merge H128  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" merge H128 %*
) else (
  python -m app merge H128 %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
