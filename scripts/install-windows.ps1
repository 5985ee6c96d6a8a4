<#
.SYNOPSIS
  Installs arpbox as a Windows service, idempotently.

.DESCRIPTION
  %ProgramFiles%\arpbox\arpbox.exe      the binary (replaced on every run)
  %ProgramData%\arpbox\arpbox.yaml      the configuration (never overwritten)
  service "arpbox"                      installed (or updated) and started

  Refuses, changing nothing, without Npcap (https://npcap.com): arpbox
  captures through Npcap's wpcap.dll. Run from an elevated PowerShell:

    powershell -ExecutionPolicy Bypass -File scripts\install-windows.ps1 -Binary .\arpbox.exe

.PARAMETER Binary
  The arpbox.exe to install (default: arpbox.exe in the current directory).
.PARAMETER Config
  The configuration installed when none is there yet (default: the
  repository's configs\windows-host.yaml, next to this script's directory).
.PARAMETER NoStart
  Install and update the service, but do not start it.
#>
[CmdletBinding()]
param(
    [string]$Binary = (Join-Path (Get-Location) 'arpbox.exe'),
    [string]$Config = (Join-Path (Split-Path -Parent $PSScriptRoot) 'configs\windows-host.yaml'),
    [switch]$NoStart
)
Set-StrictMode -Version 2
$ErrorActionPreference = 'Stop'

function Fail([string]$msg) {
    Write-Error "install-windows: $msg" -ErrorAction Continue
    exit 1
}

# Runs arpbox.exe with arguments; fails with its output on a non-zero exit.
function Invoke-Arpbox([string]$exe, [string[]]$argv) {
    $out = & $exe @argv 2>&1
    if ($LASTEXITCODE -ne 0) {
        Fail "arpbox $($argv -join ' ') failed (exit $LASTEXITCODE): $out"
    }
    return $out
}

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Fail 'run this from an elevated PowerShell (Run as Administrator): it installs a service.'
}

# Npcap first: without it nothing is changed.
$wpcap = Join-Path $env:SystemRoot 'System32\Npcap\wpcap.dll'
if (-not (Test-Path -LiteralPath $wpcap)) {
    Fail ("Npcap is not installed ($wpcap is missing). arpbox captures through Npcap: " +
        'install it from https://npcap.com/#download (its free licence covers a limited number ' +
        'of systems: see its licence, https://github.com/nmap/npcap/blob/master/LICENSE), then run this again.')
}

if (-not (Test-Path -LiteralPath $Binary -PathType Leaf)) {
    Fail "no arpbox binary at $Binary (give one with -Binary)."
}
$Binary = (Resolve-Path -LiteralPath $Binary).Path
$version = Invoke-Arpbox $Binary @('version')

$installDir = Join-Path $env:ProgramFiles 'arpbox'
$exe = Join-Path $installDir 'arpbox.exe'
$dataDir = Join-Path $env:ProgramData 'arpbox'
$cfg = Join-Path $dataDir 'arpbox.yaml'

# A running service holds the binary open: stop it before replacing it.
$svc = Get-Service -Name 'arpbox' -ErrorAction SilentlyContinue
if ($null -ne $svc -and $svc.Status -ne 'Stopped') {
    Write-Host "  service arpbox: stopping to replace the binary"
    Stop-Service -Name 'arpbox'
    $svc.WaitForStatus('Stopped', [TimeSpan]::FromMinutes(5))
}

New-Item -ItemType Directory -Force -Path $installDir | Out-Null
if ($Binary -ne $exe) {
    Copy-Item -LiteralPath $Binary -Destination "$exe.new" -Force
    Move-Item -LiteralPath "$exe.new" -Destination $exe -Force
}
Write-Host "  binary: $exe ($version)"

New-Item -ItemType Directory -Force -Path $dataDir | Out-Null
if (Test-Path -LiteralPath $cfg) {
    Write-Host "  config: $cfg (kept)"
} else {
    if (-not (Test-Path -LiteralPath $Config -PathType Leaf)) {
        Fail "no configuration to install at $Config (give one with -Config)."
    }
    Copy-Item -LiteralPath $Config -Destination $cfg
    Write-Host "  config: $cfg (from $Config; review its interfaces and triggers for this host)"
}
Invoke-Arpbox $exe @('check-config', '-config', $cfg) | Out-Null

Invoke-Arpbox $exe @('service', 'install', '-config', $cfg) | Out-Null
Write-Host '  service arpbox: installed (automatic start, restarts on failure)'
if ($NoStart) {
    Write-Host '  service arpbox: not started (-NoStart)'
} else {
    Invoke-Arpbox $exe @('service', 'start') | Out-Null
    Write-Host "  service arpbox: running; log in $dataDir\arpbox.log and the Application event log"
}
