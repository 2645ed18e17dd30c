@echo off
rem 4.2.other) data_src util remove landmarks debug images  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" faceset debug remove src %*
) else (
  python -m app faceset debug remove src %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
