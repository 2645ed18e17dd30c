@echo off
rem 4.2.6) data_src sort final  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" faceset sort src --by final %*
) else (
  python -m app faceset sort src --by final %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
