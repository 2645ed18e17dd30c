@echo off
rem 4.2.other) data_src util convert JPG to PNG  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" faceset convert src --to png %*
) else (
  python -m app faceset convert src --to png %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
