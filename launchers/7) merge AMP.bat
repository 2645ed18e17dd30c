@echo off
rem 7) merge AMP  (generated from launchers/steps.toml; do not edit)
setlocal
cd /d "%~dp0.." || exit /b 1
if not exist "facestudio\facestudio.exe" goto python
"facestudio\facestudio.exe" merge AMP %*
goto done
:python
python -m app merge AMP %*
:done
set "FACESTUDIO_RC=%ERRORLEVEL%"
if "%FACESTUDIO_NOPAUSE%"=="" pause
exit /b %FACESTUDIO_RC%
