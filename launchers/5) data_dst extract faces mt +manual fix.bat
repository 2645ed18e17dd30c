@echo off
rem 5) data_dst extract faces mt +manual fix  (generated from launchers/steps.toml; do not edit)
setlocal
cd /d "%~dp0.." || exit /b 1
if not exist "facestudio\facestudio.exe" goto python
"facestudio\facestudio.exe" extract dst --detector mt --manual-fix %*
goto done
:python
python -m app extract dst --detector mt --manual-fix %*
:done
set "FACESTUDIO_RC=%ERRORLEVEL%"
if "%FACESTUDIO_NOPAUSE%"=="" pause
exit /b %FACESTUDIO_RC%
