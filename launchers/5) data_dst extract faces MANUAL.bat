@echo off
rem 5) data_dst extract faces MANUAL  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" extract dst --detector manual %*
) else (
  python -m app extract dst --detector manual %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
