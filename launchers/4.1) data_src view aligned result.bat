@echo off
rem 4.1) data_src view aligned result  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" faceset view src %*
) else (
  python -m app faceset view src %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
