@echo off
rem 7) merge Quick96  (generated from launchers/steps.toml; do not edit)
setlocal
cd /d "%~dp0.." || exit /b 1
if not exist "facestudio\facestudio.exe" goto python
"facestudio\facestudio.exe" merge Quick96 %*
goto done
:python
python -m app merge Quick96 %*
:done
set "FACESTUDIO_RC=%ERRORLEVEL%"
if "%FACESTUDIO_NOPAUSE%"=="" pause
exit /b %FACESTUDIO_RC%
