@echo off
rem 4.2.other) data_src util recover original filename  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" faceset recover-names src %*
) else (
  python -m app faceset recover-names src %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
