@echo off
rem devices - list GPUs and OpenCL devices  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" devices %*
) else (
  python -m app devices %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
