@echo off
rem 6) train AMP  (generated from launchers/steps.toml; do not edit)
setlocal
cd /d "%~dp0.." || exit /b 1
if not exist "facestudio\facestudio.exe" goto python
"facestudio\facestudio.exe" train AMP %*
goto done
:python
python -m app train AMP %*
:done
set "FACESTUDIO_RC=%ERRORLEVEL%"
if "%FACESTUDIO_NOPAUSE%"=="" pause
exit /b %FACESTUDIO_RC%
