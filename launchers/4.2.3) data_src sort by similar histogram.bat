@echo off
rem 4.2.3) data_src sort by similar histogram  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" faceset sort src --by hist %*
) else (
  python -m app faceset sort src --by hist %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
