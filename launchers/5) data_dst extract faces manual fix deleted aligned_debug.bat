@echo off
rem 5) data_dst extract faces manual fix deleted aligned_debug  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" extract dst --manual-fix-deleted-debug %*
) else (
  python -m app extract dst --manual-fix-deleted-debug %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
