@echo off
rem 5.4) data_dst mask editor  (generated from launchers/steps.toml; do not edit)
cd /d "%~dp0.."
if exist "facestudio\facestudio.exe" (
  "facestudio\facestudio.exe" mask edit dst %*
) else (
  python -m app mask edit dst %*
)
if "%FACESTUDIO_NOPAUSE%"=="" pause
