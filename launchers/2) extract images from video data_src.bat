@echo off
rem 2) extract images from video data_src  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" video extract src %*
) else (
  python -m app video extract src %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
