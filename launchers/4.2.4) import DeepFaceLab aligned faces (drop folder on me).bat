@echo off
rem 4.2.4) import DeepFaceLab aligned faces (drop folder on me)  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" faceset import-dfl %*
) else (
  python -m app faceset import-dfl %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
