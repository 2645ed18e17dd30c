@echo off
rem 4.2.2) data_src sort by yaw  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" faceset sort src --by face-yaw %*
) else (
  python -m app faceset sort src --by face-yaw %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
