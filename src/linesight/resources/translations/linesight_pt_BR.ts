<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="pt_BR" sourcelanguage="en">
<context>
    <name>DiagnosticsScreen</name>
    <message>
        <source>connected</source>
        <translation>conectado</translation>
    </message>
    <message>
        <source>connecting</source>
        <translation>conectando</translation>
    </message>
    <message>
        <source>backing off</source>
        <translation>aguardando nova tentativa</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>parado</translation>
    </message>
    <message>
        <source>Connections</source>
        <translation>Conexões</translation>
    </message>
    <message>
        <source>Machine</source>
        <translation>Máquina</translation>
    </message>
    <message>
        <source>Driver</source>
        <translation>Driver</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Round trip</source>
        <translation>Tempo de resposta</translation>
    </message>
    <message>
        <source>Samples/s</source>
        <translation>Amostras/s</translation>
    </message>
    <message>
        <source>Requests/s</source>
        <translation>Requisições/s</translation>
    </message>
    <message>
        <source>Dropped</source>
        <translation>Descartadas</translation>
    </message>
    <message>
        <source>Last error</source>
        <translation>Último erro</translation>
    </message>
    <message>
        <source>At</source>
        <translation>Em</translation>
    </message>
    <message>
        <source>Tags the devices refused</source>
        <translation>Tags recusadas pelos dispositivos</translation>
    </message>
    <message>
        <source>None: every device answered for every tag.</source>
        <translation>Nenhuma: todos os dispositivos responderam por todas as tags.</translation>
    </message>
    <message>
        <source>Tag</source>
        <translation>Tag</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Motivo</translation>
    </message>
</context>
<context>
    <name>Duration</name>
    <message>
        <source>%n s</source>
        <translation>%n s</translation>
    </message>
    <message>
        <source>%n min</source>
        <translation>%n min</translation>
    </message>
    <message>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <source>%1 d %2 h</source>
        <translation>%1 d %2 h</translation>
    </message>
</context>
<context>
    <name>HistoryScreen</name>
    <message>
        <source>The end must be after the start.</source>
        <translation>O fim deve ser depois do início.</translation>
    </message>
    <message>
        <source>the raw samples</source>
        <translation>amostras brutas</translation>
    </message>
    <message>
        <source>the 1-minute rollup</source>
        <translation>resumo de 1 minuto</translation>
    </message>
    <message>
        <source>the 1-hour rollup</source>
        <translation>resumo de 1 hora</translation>
    </message>
    <message>
        <source>%1 points per tag, from %2</source>
        <translation>%1 pontos por tag, fonte: %2</translation>
    </message>
    <message>
        <source>Export the view</source>
        <translation>Exportar a visualização</translation>
    </message>
    <message>
        <source>%1 rows written to %2</source>
        <translation>%1 linhas gravadas em %2</translation>
    </message>
    <message>
        <source>Save a picture of the trend</source>
        <translation>Salvar uma imagem da tendência</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>Salvo em %1</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>Mostrar</translation>
    </message>
    <message>
        <source>Export CSV</source>
        <translation>Exportar CSV</translation>
    </message>
    <message>
        <source>Export Parquet</source>
        <translation>Exportar Parquet</translation>
    </message>
    <message>
        <source>Picture</source>
        <translation>Imagem</translation>
    </message>
    <message>
        <source>From</source>
        <translation>De</translation>
    </message>
    <message>
        <source>To</source>
        <translation>Até</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <source>Log in</source>
        <translation>Entrar</translation>
    </message>
    <message>
        <source>Keyboard</source>
        <translation>Teclado</translation>
    </message>
    <message>
        <source>User</source>
        <translation>Usuário</translation>
    </message>
    <message>
        <source>PIN or password</source>
        <translation>PIN ou senha</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>Verificando…</translation>
    </message>
    <message>
        <source>Unknown user or wrong PIN.</source>
        <translation>Usuário desconhecido ou PIN incorreto.</translation>
    </message>
</context>
<context>
    <name>MachineScreen</name>
    <message>
        <source>Write…</source>
        <translation>Escrever…</translation>
    </message>
    <message>
        <source>no data</source>
        <translation>sem dados</translation>
    </message>
    <message>
        <source>on</source>
        <translation>ligado</translation>
    </message>
    <message>
        <source>off</source>
        <translation>desligado</translation>
    </message>
    <message>
        <source>for %1</source>
        <translation>há %1</translation>
    </message>
    <message>
        <source>New value for %1</source>
        <translation>Novo valor para %1</translation>
    </message>
    <message>
        <source>Not written</source>
        <translation>Não escrito</translation>
    </message>
    <message>
        <source>◀ Overview</source>
        <translation>◀ Visão geral</translation>
    </message>
    <message>
        <source>History ▶</source>
        <translation>Histórico ▶</translation>
    </message>
    <message>
        <source>OEE</source>
        <translation>OEE</translation>
    </message>
    <message>
        <source>Availability</source>
        <translation>Disponibilidade</translation>
    </message>
    <message>
        <source>Performance</source>
        <translation>Desempenho</translation>
    </message>
    <message>
        <source>Quality</source>
        <translation>Qualidade</translation>
    </message>
    <message>
        <source>Parts this shift</source>
        <translation>Peças neste turno</translation>
    </message>
    <message>
        <source>Good</source>
        <translation>Boas</translation>
    </message>
    <message>
        <source>Rejects</source>
        <translation>Refugos</translation>
    </message>
    <message>
        <source>Micro-stops</source>
        <translation>Micro-paradas</translation>
    </message>
    <message>
        <source>Tag</source>
        <translation>Tag</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>Valor</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>Unidade</translation>
    </message>
    <message>
        <source>Recent alarms from the machine</source>
        <translation>Alarmes recentes da máquina</translation>
    </message>
</context>
<context>
    <name>MachineState</name>
    <message>
        <source>Running</source>
        <translation>Produzindo</translation>
    </message>
    <message>
        <source>Idle</source>
        <translation>Ociosa</translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation>Parada</translation>
    </message>
    <message>
        <source>Setup</source>
        <translation>Setup</translation>
    </message>
    <message>
        <source>Planned stop</source>
        <translation>Parada planejada</translation>
    </message>
    <message>
        <source>No data</source>
        <translation>Sem dados</translation>
    </message>
</context>
<context>
    <name>MachineTile</name>
    <message>
        <source>%1 for %2</source>
        <translation>%1 há %2</translation>
    </message>
    <message>
        <source>OEE</source>
        <translation>OEE</translation>
    </message>
    <message>
        <source>Parts</source>
        <translation>Peças</translation>
    </message>
    <message>
        <source>1 active alarm</source>
        <translation>1 alarme ativo</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Log in</source>
        <translation>Entrar</translation>
    </message>
    <message>
        <source>operator</source>
        <translation>operador</translation>
    </message>
    <message>
        <source>supervisor</source>
        <translation>supervisor</translation>
    </message>
    <message>
        <source>maintenance</source>
        <translation>manutenção</translation>
    </message>
    <message>
        <source>manager</source>
        <translation>gerente</translation>
    </message>
    <message>
        <source>admin</source>
        <translation>administrador</translation>
    </message>
    <message>
        <source>Kiosk</source>
        <translation>Quiosque</translation>
    </message>
    <message>
        <source>Only an administrator may leave kiosk mode.</source>
        <translation>Somente um administrador pode sair do modo quiosque.</translation>
    </message>
    <message>
        <source>Administrator PIN to leave kiosk mode</source>
        <translation>PIN de administrador para sair do modo quiosque</translation>
    </message>
    <message>
        <source>Overview</source>
        <translation>Visão geral</translation>
    </message>
    <message>
        <source>History</source>
        <translation>Histórico</translation>
    </message>
    <message>
        <source>Diagnostics</source>
        <translation>Diagnóstico</translation>
    </message>
    <message>
        <source>Switch the language</source>
        <translation>Trocar o idioma</translation>
    </message>
    <message>
        <source>Night</source>
        <translation>Noite</translation>
    </message>
    <message>
        <source>Day</source>
        <translation>Dia</translation>
    </message>
    <message>
        <source>Exit</source>
        <translation>Sair</translation>
    </message>
    <message>
        <source>No active alarms</source>
        <translation>Nenhum alarme ativo</translation>
    </message>
    <message>
        <source>No shift running</source>
        <translation>Nenhum turno em andamento</translation>
    </message>
    <message>
        <source>Shift %1 until %2</source>
        <translation>Turno %1 até %2</translation>
    </message>
</context>
<context>
    <name>NumericKeypad</name>
    <message>
        <source>Decimal separator</source>
        <translation>Separador decimal</translation>
    </message>
    <message>
        <source>Change sign</source>
        <translation>Trocar o sinal</translation>
    </message>
    <message>
        <source>Backspace</source>
        <translation>Apagar</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>Limpar</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancelar</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>Valor</translation>
    </message>
    <message>
        <source>Between %1 and %2 %3</source>
        <translation>Entre %1 e %2 %3</translation>
    </message>
    <message>
        <source>At least %1 %3</source>
        <translation>No mínimo %1 %3</translation>
    </message>
    <message>
        <source>At most %2 %3</source>
        <translation>No máximo %2 %3</translation>
    </message>
    <message>
        <source>Enter a number</source>
        <translation>Digite um número</translation>
    </message>
</context>
<context>
    <name>OnScreenKeyboard</name>
    <message>
        <source>Backspace</source>
        <translation>Apagar</translation>
    </message>
    <message>
        <source>Caps</source>
        <translation>Maiúsc.</translation>
    </message>
    <message>
        <source>Caps lock</source>
        <translation>Fixar maiúsculas</translation>
    </message>
    <message>
        <source>Shift</source>
        <translation>Shift</translation>
    </message>
    <message>
        <source>Space</source>
        <translation>Espaço</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancelar</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Senha</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>Texto</translation>
    </message>
</context>
<context>
    <name>OverviewScreen</name>
    <message>
        <source>%1 — %2</source>
        <translation>%1 — %2</translation>
    </message>
</context>
<context>
    <name>RuntimeBridge</name>
    <message>
        <source>The runtime is not running.</source>
        <translation>A coleta de dados não está em execução.</translation>
    </message>
</context>
<context>
    <name>StateTimeline</name>
    <message>
        <source>%1: %2–%3 (%4)</source>
        <translation>%1: %2–%3 (%4)</translation>
    </message>
    <message>
        <source>No shift running</source>
        <translation>Nenhum turno em andamento</translation>
    </message>
    <message>
        <source>Break</source>
        <translation>Pausa</translation>
    </message>
    <message>
        <source>Planned stop</source>
        <translation>Parada planejada</translation>
    </message>
    <message>
        <source>Shift %1, %2–%3</source>
        <translation>Turno %1, %2–%3</translation>
    </message>
</context>
<context>
    <name>TrendPlot</name>
    <message>
        <source>%1 (%2)</source>
        <comment>series label (unit) in the legend</comment>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>Follow live</source>
        <translation>Seguir ao vivo</translation>
    </message>
    <message>
        <source>Show the newest values again</source>
        <translation>Mostrar de novo os valores mais recentes</translation>
    </message>
    <message>
        <source>Reset view</source>
        <translation>Restaurar a vista</translation>
    </message>
    <message>
        <source>Go back to the chosen time range</source>
        <translation>Voltar ao período escolhido</translation>
    </message>
    <message>
        <source>%1 – %2</source>
        <comment>min – max of a bucket at the cursor</comment>
        <translation>%1 – %2</translation>
    </message>
</context>
</TS>
