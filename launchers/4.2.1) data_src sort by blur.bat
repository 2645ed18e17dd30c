@echo off
rem 4.2.1) data_src sort by blur  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" faceset sort src --by blur %*
) else (
  python -m app faceset sort src --by blur %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
