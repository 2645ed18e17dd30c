@echo off
rem 5.1) data_dst view aligned results  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" faceset view dst %*
) else (
  python -m app faceset view dst %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
