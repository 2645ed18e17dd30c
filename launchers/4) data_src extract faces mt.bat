@echo off
rem 4) data_src extract faces mt  (generated from launchers/steps.toml; do not edit)
setlocal
cd /d "%~dp0.." || exit /b 1
if not exist "facestudio\facestudio.exe" goto python
"facestudio\facestudio.exe" extract src --detector mt %*
goto done
:python
python -m app extract src --detector mt %*
:done
set "FACESTUDIO_RC=%ERRORLEVEL%"
if "%FACESTUDIO_NOPAUSE%"=="" pause
exit /b %FACESTUDIO_RC%
