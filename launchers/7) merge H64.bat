@echo off
rem 7) merge H64  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" merge H64 %*
) else (
  python -m app merge H64 %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
