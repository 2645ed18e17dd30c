@echo off
rem 3.2) extract images from video data_dst FULL FPS  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" video extract dst %*
) else (
  python -m app video extract dst %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
