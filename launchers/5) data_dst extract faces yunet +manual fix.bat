@echo off
rem 5) data_dst extract faces yunet +manual fix  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" extract dst --detector yunet --manual-fix %*
) else (
  python -m app extract dst --detector yunet --manual-fix %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
