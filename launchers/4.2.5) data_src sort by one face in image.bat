@echo off
rem 4.2.5) data_src sort by one face in image  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" faceset sort src --by one-face %*
) else (
  python -m app faceset sort src --by one-face %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
