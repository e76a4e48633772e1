# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the emulated commands print, in English and in German (Windows translates these; the collection must parse
none of them). The German texts are those of a German Windows as well as we know them; only their being different
matters to the tests."""

from __future__ import absolute_import, division, print_function

MESSAGES = {
    'en': {
        'ok': 'The operation completed successfully.',
        'not_found': 'ERROR: The system was unable to find the specified registry key or value.',
        'access': 'ERROR: Access is denied.',
        'import_failed': 'ERROR: Error accessing the registry.',
        'default': '(Default)',
        'not_set': '(value not set)',
        'end_of_search': 'End of search: %d match(es) found.',
        'not_registry_script': 'ERROR: The specified file is not a registry script.',
        'open_failed': 'ERROR: Error opening the file. There may be a disk or file system error.',
        'invalid_syntax': 'ERROR: Invalid syntax.',
        'copied': '        %d file(s) copied.',
        'no_file': 'The system cannot find the file specified.',
        'no_path': 'The system cannot find the path specified.',
        'file_not_found': 'File Not Found',
        'could_not_find': 'Could Not Find %s',
        'dir_exists': 'A subdirectory or file %s already exists.',
        'not_recognized': "'%s' is not recognized as an internal or external command,\r\noperable program or batch file.",
        'syntax': 'The syntax of the command is incorrect.',
        'too_long': 'The command line is too long.',
        'fc_same': 'Comparing files %s and %s\r\nFC: no differences encountered',
        'fc_differ': 'Comparing files %s and %s\r\nFC: %s longer than %s',
        'fc_missing': 'FC: cannot open %s - No such file or folder',
        'task_created': 'SUCCESS: The scheduled task "%s" has successfully been created.',
        'task_st_warning': 'WARNING: Task may not run because /ST is earlier than current time.',
        'task_run': 'SUCCESS: Attempted to run the scheduled task "%s".',
        'task_deleted': 'SUCCESS: The scheduled task "%s" was successfully deleted.',
        'task_missing': 'ERROR: The system cannot find the file specified.',
        'task_tr_long': 'ERROR: Invalid argument/option - \'/TR\'.\r\nThe value of /TR is longer than 261 characters.',
        'pnputil_added': 'Driver package added successfully.',
        'pnputil_published': 'Published name :            %s',
        'pnputil_published_new': 'Published Name:         %s',
        'pnputil_failed': 'Adding the driver package failed : %s',
        'pnputil_unsigned': 'The third-party INF does not contain digital signature information.',
        'pnputil_no_device': 'Driver package added but no matching device was found to install it on.',
        'ping': 'Pinging 127.0.0.1 with 32 bytes of data:\r\nReply from 127.0.0.1: bytes=32 time<1ms TTL=128',
    },
    'de': {
        'ok': 'Der Vorgang wurde erfolgreich beendet.',
        'not_found': 'FEHLER: Der angegebene Registrierungsschl\u00fcssel bzw. Wert wurde nicht gefunden.',
        'access': 'FEHLER: Zugriff verweigert',
        'import_failed': 'FEHLER: Fehler beim Zugriff auf die Registrierung.',
        'default': '(Standard)',
        'not_set': '(Wert nicht festgelegt)',
        'end_of_search': 'Suche beendet: %d \u00dcbereinstimmung(en) gefunden.',
        'not_registry_script': 'FEHLER: Die angegebene Datei ist kein Registrierungsskript.',
        'open_failed': 'FEHLER: Fehler beim \u00d6ffnen der Datei. M\u00f6glicherweise liegt ein Datentr\u00e4ger- oder '
                       'Dateisystemfehler vor.',
        'invalid_syntax': 'FEHLER: Ung\u00fcltige Syntax.',
        'copied': '        %d Datei(en) kopiert.',
        'no_file': 'Das System kann die angegebene Datei nicht finden.',
        'no_path': 'Das System kann den angegebenen Pfad nicht finden.',
        'file_not_found': 'Datei nicht gefunden',
        'could_not_find': '%s konnte nicht gefunden werden.',
        'dir_exists': 'Ein Unterverzeichnis oder eine Datei mit dem Namen "%s" existiert bereits.',
        'not_recognized': 'Der Befehl "%s" ist entweder falsch geschrieben oder\r\nkonnte nicht gefunden werden.',
        'syntax': 'Die Syntax f\u00fcr den Dateinamen, Verzeichnisnamen oder die Datentr\u00e4gerbezeichnung ist falsch.',
        'too_long': 'Die Befehlszeile ist zu lang.',
        'fc_same': 'Vergleichen der Dateien %s und %s\r\nFC: Keine Unterschiede gefunden',
        'fc_differ': 'Vergleichen der Dateien %s und %s\r\nFC: %s ist l\u00e4nger als %s',
        'fc_missing': 'FC: %s kann nicht ge\u00f6ffnet werden - Datei oder Ordner nicht vorhanden',
        'task_created': 'ERFOLGREICH: Der geplante Task "%s" wurde erfolgreich erstellt.',
        'task_st_warning': 'WARNUNG: Der Task wird m\u00f6glicherweise nicht ausgef\u00fchrt, da /ST vor der aktuellen '
                           'Uhrzeit liegt.',
        'task_run': 'ERFOLGREICH: Es wurde versucht, den geplanten Task "%s" auszuf\u00fchren.',
        'task_deleted': 'ERFOLGREICH: Der geplante Task "%s" wurde erfolgreich gel\u00f6scht.',
        'task_missing': 'FEHLER: Das System kann die angegebene Datei nicht finden.',
        'task_tr_long': 'FEHLER: Ung\u00fcltiges Argument/Option - "/TR".\r\nDer Wert f\u00fcr /TR ist l\u00e4nger als 261 '
                        'Zeichen.',
        'pnputil_added': 'Das Treiberpaket wurde erfolgreich hinzugef\u00fcgt.',
        'pnputil_published': 'Ver\u00f6ffentlichter Name:     %s',
        'pnputil_published_new': 'Ver\u00f6ffentlichter Name:   %s',
        'pnputil_failed': 'Fehler beim Hinzuf\u00fcgen des Treiberpakets: %s',
        'pnputil_unsigned': 'Die INF-Datei eines Drittanbieters enth\u00e4lt keine digitalen Signaturinformationen.',
        'pnputil_no_device': 'Das Treiberpaket wurde hinzugef\u00fcgt, aber es wurde kein passendes Ger\u00e4t gefunden.',
        'ping': 'Ping wird ausgef\u00fchrt f\u00fcr 127.0.0.1 mit 32 Bytes Daten:\r\nAntwort von 127.0.0.1: Bytes=32 '
                'Zeit<1ms TTL=128',
    },
}
