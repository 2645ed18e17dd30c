@echo off
rem 4.2.other) data_src util convert PNG to JPG  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" faceset convert src --to jpg %*
) else (
  python -m app faceset convert src --to jpg %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
