@echo off
rem 5) data_dst extract faces fast person of first frame  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" extract dst --detector fast --person first %*
) else (
  python -m app extract dst --detector fast --person first %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
