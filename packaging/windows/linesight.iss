; Inno Setup 6 script: the Windows installer of LineSight, from the PyInstaller bundle in dist\linesight.
;
; Built on Windows (see docs/integrator-guide.md, "Building the installer"):
;   .venv\Scripts\python packaging\build.py --self-test
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 packaging\windows\linesight.iss
; writes dist\LineSight-<version>-setup.exe. AppVersion must be linesight.__version__ (build.py prints
; it; dist\linesight\_internal\VERSION holds it).
;
; What it does: installs to C:\Program Files\LineSight (per machine, administrator), a Start-menu entry
; for the HMI and the demo, an optional desktop icon, `linesight` on the system PATH (optional), closes
; a running LineSight before an upgrade, and runs `linesight --self-test` at the end if asked.
; The historian, logs and settings live in the user's folders and survive uninstalling.

#ifndef AppVersion
  #error Pass the version: ISCC /DAppVersion=x.y.z packaging\windows\linesight.iss
#endif
#define AppName "LineSight"
#define Bundle "..\..\dist\linesight"

[Setup]
; The AppId keeps upgrades in place: never change it.
AppId={{6E0B7C52-3C1F-4B7A-9E55-2B1F0B8F4A11}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=LineSight
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=LineSight-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=force
RestartApplications=no
ChangesEnvironment=yes
UninstallDisplayIcon={app}\linesight.exe
MinVersion=10.0

[Languages]
Name: "en"; MessagesFile: "compiler:Default.isl"
Name: "ptbr"; MessagesFile: "compiler:Languages\BrazilianPortuguese.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"
Name: "addtopath"; Description: "Add linesight to the system PATH (for the command line and services)"; GroupDescription: "Command line:"

[Files]
; The whole one-folder bundle: linesight.exe and _internal\ (Python, Qt, resources, translations).
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "..\..\docs\integrator-guide.md"; DestDir: "{app}\docs"; Flags: ignoreversion
Source: "..\..\docs\plant-file.md"; DestDir: "{app}\docs"; Flags: ignoreversion

[Dirs]
; A shared place for the kiosk's plant file (docs/integrator-guide.md, Shell Launcher).
Name: "{commonappdata}\LineSight"; Permissions: users-modify

[Icons]
Name: "{group}\LineSight"; Filename: "{app}\linesight.exe"; WorkingDir: "{userdocs}"
Name: "{group}\LineSight demo"; Filename: "{app}\linesight.exe"; Parameters: "demo"; WorkingDir: "{userdocs}"
Name: "{group}\Integrator guide"; Filename: "{app}\docs\integrator-guide.md"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\LineSight"; Filename: "{app}\linesight.exe"; WorkingDir: "{userdocs}"; Tasks: desktopicon

[Registry]
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; \
    ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; \
    Check: NeedsAddPath(ExpandConstant('{app}')); Tasks: addtopath

[Run]
Filename: "{app}\linesight.exe"; Parameters: "--self-test --screenshot ""{tmp}\linesight-self-test.png"""; \
    StatusMsg: "Checking the installation (self-test)..."; Flags: runhidden waituntilterminated postinstall unchecked; \
    Description: "Run the self-test now (about 10 s)"
Filename: "{app}\linesight.exe"; Parameters: "demo"; Description: "Start the LineSight demo"; \
    Flags: nowait postinstall skipifsilent unchecked

[UninstallDelete]
Type: filesandordirs; Name: "{app}\_internal"

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Current: string;
begin
  if not RegQueryStringValue(HKLM, 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment',
    'Path', Current) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Current) + ';') = 0;
end;
