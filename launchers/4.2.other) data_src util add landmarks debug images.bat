@echo off
rem 4.2.other) data_src util add landmarks debug images  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" faceset debug add src %*
) else (
  python -m app faceset debug add src %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
