<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="pt_BR" sourcelanguage="en">
<context>
    <name>AlarmAction</name>
    <message>
        <source>Raised</source>
        <translation>Disparado</translation>
    </message>
    <message>
        <source>Cleared</source>
        <translation>Normalizado</translation>
    </message>
    <message>
        <source>Acknowledged</source>
        <translation>Reconhecido</translation>
    </message>
    <message>
        <source>Shelved</source>
        <translation>Suspenso</translation>
    </message>
    <message>
        <source>Unshelved</source>
        <translation>Reativado</translation>
    </message>
    <message>
        <source>Suppressed</source>
        <translation>Suprimido</translation>
    </message>
    <message>
        <source>Unsuppressed</source>
        <translation>Fim da supressão</translation>
    </message>
    <message>
        <source>Out of service</source>
        <translation>Fora de serviço</translation>
    </message>
    <message>
        <source>Returned to service</source>
        <translation>Devolvido ao serviço</translation>
    </message>
    <message>
        <source>Comment</source>
        <translation>Comentário</translation>
    </message>
</context>
<context>
    <name>AlarmBanner</name>
    <message>
        <source>Unacknowledged: %1</source>
        <translation>Não reconhecidos: %1</translation>
    </message>
    <message>
        <source>Shelved: %1</source>
        <translation>Suspensos: %1</translation>
    </message>
    <message>
        <source>Out of service: %1</source>
        <translation>Fora de serviço: %1</translation>
    </message>
    <message>
        <source>All alarms acknowledged</source>
        <translation>Todos os alarmes reconhecidos</translation>
    </message>
    <message>
        <source>Alarms</source>
        <translation>Alarmes</translation>
    </message>
    <message>
        <source>Open the alarm list</source>
        <translation>Abrir a lista de alarmes</translation>
    </message>
</context>
<context>
    <name>AlarmMessage</name>
    <message>
        <source>%1 high-high at %2 (limit %3)</source>
        <translation>%1 muito alto em %2 (limite %3)</translation>
    </message>
    <message>
        <source>%1 high at %2 (limit %3)</source>
        <translation>%1 alto em %2 (limite %3)</translation>
    </message>
    <message>
        <source>%1 low at %2 (limit %3)</source>
        <translation>%1 baixo em %2 (limite %3)</translation>
    </message>
    <message>
        <source>%1 low-low at %2 (limit %3)</source>
        <translation>%1 muito baixo em %2 (limite %3)</translation>
    </message>
    <message>
        <source>%1 off its setpoint at %2 (limit %3)</source>
        <translation>%1 fora do setpoint em %2 (limite %3)</translation>
    </message>
    <message>
        <source>%1 changing at %2 (limit %3)</source>
        <translation>%1 variando a %2 (limite %3)</translation>
    </message>
    <message>
        <source>%1 is %2</source>
        <translation>%1 está %2</translation>
    </message>
    <message>
        <source>No fresh value of %1 for %3</source>
        <translation>Sem valor novo de %1 há %3</translation>
    </message>
    <message>
        <source>%2 for %3 or longer</source>
        <translation>%2 por %3 ou mais</translation>
    </message>
</context>
<context>
    <name>AlarmPriority</name>
    <message>
        <source>Critical</source>
        <translation>Crítica</translation>
    </message>
    <message>
        <source>High</source>
        <translation>Alta</translation>
    </message>
    <message>
        <source>Medium</source>
        <translation>Média</translation>
    </message>
    <message>
        <source>Low</source>
        <translation>Baixa</translation>
    </message>
</context>
<context>
    <name>AlarmState</name>
    <message>
        <source>Normal</source>
        <translation>Normal</translation>
    </message>
    <message>
        <source>Unacknowledged</source>
        <translation>Não reconhecido</translation>
    </message>
    <message>
        <source>Acknowledged</source>
        <translation>Reconhecido</translation>
    </message>
    <message>
        <source>Cleared, unacknowledged</source>
        <translation>Normalizado, não reconhecido</translation>
    </message>
    <message>
        <source>Shelved</source>
        <translation>Suspenso</translation>
    </message>
    <message>
        <source>Suppressed</source>
        <translation>Suprimido</translation>
    </message>
    <message>
        <source>Out of service</source>
        <translation>Fora de serviço</translation>
    </message>
</context>
<context>
    <name>AlarmTable</name>
    <message>
        <source>on</source>
        <translation>ligado</translation>
    </message>
    <message>
        <source>off</source>
        <translation>desligado</translation>
    </message>
    <message>
        <source>until %1</source>
        <translation>até %1</translation>
    </message>
    <message>
        <source>stale</source>
        <translation>persistente</translation>
    </message>
    <message>
        <source>chattering</source>
        <translation>intermitente</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>Prioridade</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>Hora</translation>
    </message>
    <message>
        <source>Machine</source>
        <translation>Máquina</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>Mensagem</translation>
    </message>
    <message>
        <source>Value / limit</source>
        <translation>Valor / limite</translation>
    </message>
    <message>
        <source>Acknowledged by</source>
        <translation>Reconhecido por</translation>
    </message>
    <message>
        <source>Comment: %1</source>
        <translation>Comentário: %1</translation>
    </message>
</context>
<context>
    <name>AlarmsScreen</name>
    <message>
        <source>%1 min</source>
        <translation>%1 min</translation>
    </message>
    <message>
        <source>%1 h</source>
        <translation>%1 h</translation>
    </message>
    <message>
        <source>Shelve alarm</source>
        <translation>Suspender alarme</translation>
    </message>
    <message>
        <source>A shelved alarm is not shown until the shelve ends.</source>
        <translation>Um alarme suspenso não é mostrado até a suspensão terminar.</translation>
    </message>
    <message>
        <source>Until it clears (one-shot)</source>
        <translation>Até normalizar (uma vez)</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancelar</translation>
    </message>
    <message>
        <source>No alarm matches the filters.</source>
        <translation>Nenhum alarme atende aos filtros.</translation>
    </message>
    <message>
        <source>Acknowledge all shown (%1)</source>
        <translation>Reconhecer todos os mostrados (%1)</translation>
    </message>
    <message>
        <source>Acknowledge all shown</source>
        <translation>Reconhecer todos os mostrados</translation>
    </message>
    <message>
        <source>Needs a supervisor, maintenance, manager or administrator.</source>
        <translation>Requer supervisor, manutenção, gerente ou administrador.</translation>
    </message>
    <message>
        <source>Active (%1)</source>
        <translation>Ativos (%1)</translation>
    </message>
    <message>
        <source>Active</source>
        <translation>Ativos</translation>
    </message>
    <message>
        <source>Not done: %1</source>
        <translation>Não feito: %1</translation>
    </message>
    <message>
        <source>Log in to act on alarms</source>
        <translation>Entre para atuar nos alarmes</translation>
    </message>
    <message>
        <source>Acknowledged.</source>
        <translation>Reconhecido.</translation>
    </message>
    <message>
        <source>Acknowledged: %1</source>
        <translation>Reconhecidos: %1</translation>
    </message>
    <message>
        <source>Comment on the alarm</source>
        <translation>Comentário sobre o alarme</translation>
    </message>
    <message>
        <source>Comment saved.</source>
        <translation>Comentário salvo.</translation>
    </message>
    <message>
        <source>Shelved.</source>
        <translation>Suspenso.</translation>
    </message>
    <message>
        <source>Unshelved.</source>
        <translation>Reativado.</translation>
    </message>
    <message>
        <source>Taken out of service.</source>
        <translation>Tirado de serviço.</translation>
    </message>
    <message>
        <source>Returned to service.</source>
        <translation>Devolvido ao serviço.</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>Buscar</translation>
    </message>
    <message>
        <source>No historian: there is no journal to show.</source>
        <translation>Sem historiador: não há registro para mostrar.</translation>
    </message>
    <message>
        <source>Reading the journal…</source>
        <translation>Lendo o registro…</translation>
    </message>
    <message>
        <source>The journal could not be read: %1</source>
        <translation>Não foi possível ler o registro: %1</translation>
    </message>
    <message>
        <source>system</source>
        <translation>sistema</translation>
    </message>
    <message>
        <source>The newest %1 events; narrow the period or search.</source>
        <translation>Os %1 eventos mais recentes; reduza o período ou busque.</translation>
    </message>
    <message>
        <source>Events: %1</source>
        <translation>Eventos: %1</translation>
    </message>
    <message>
        <source>Yes: %1</source>
        <translation>Sim: %1</translation>
    </message>
    <message>
        <source>No</source>
        <translation>Não</translation>
    </message>
    <message>
        <source>Over the last %1: %2 alarms raised. Kept in memory since the start.</source>
        <translation>Nos últimos %1: %2 alarmes disparados. Mantido em memória desde o início.</translation>
    </message>
    <message>
        <source>Alarms</source>
        <translation>Alarmes</translation>
    </message>
    <message>
        <source>Journal</source>
        <translation>Registro</translation>
    </message>
    <message>
        <source>Performance</source>
        <translation>Desempenho</translation>
    </message>
    <message>
        <source>Alarm flood</source>
        <translation>Avalanche de alarmes</translation>
    </message>
    <message>
        <source>All priorities</source>
        <translation>Todas as prioridades</translation>
    </message>
    <message>
        <source>All machines</source>
        <translation>Todas as máquinas</translation>
    </message>
    <message>
        <source>Standing</source>
        <translation>Pendentes</translation>
    </message>
    <message>
        <source>Unacknowledged</source>
        <translation>Não reconhecidos</translation>
    </message>
    <message>
        <source>Acknowledged</source>
        <translation>Reconhecidos</translation>
    </message>
    <message>
        <source>All states</source>
        <translation>Todos os estados</translation>
    </message>
    <message>
        <source>Keyboard</source>
        <translation>Teclado</translation>
    </message>
    <message>
        <source>Acknowledge</source>
        <translation>Reconhecer</translation>
    </message>
    <message>
        <source>Comment…</source>
        <translation>Comentar…</translation>
    </message>
    <message>
        <source>Shelve…</source>
        <translation>Suspender…</translation>
    </message>
    <message>
        <source>Unshelve</source>
        <translation>Reativar</translation>
    </message>
    <message>
        <source>Out of service</source>
        <translation>Tirar de serviço</translation>
    </message>
    <message>
        <source>Return to service</source>
        <translation>Devolver ao serviço</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>Hora</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>Prioridade</translation>
    </message>
    <message>
        <source>Machine</source>
        <translation>Máquina</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>Mensagem</translation>
    </message>
    <message>
        <source>Event</source>
        <translation>Evento</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>User</source>
        <translation>Usuário</translation>
    </message>
    <message>
        <source>Comment</source>
        <translation>Comentário</translation>
    </message>
    <message>
        <source>Alarms per 10 min (average)</source>
        <translation>Alarmes por 10 min (média)</translation>
    </message>
    <message>
        <source>Alarms in the last 10 min</source>
        <translation>Alarmes nos últimos 10 min</translation>
    </message>
    <message>
        <source>Time in flood</source>
        <translation>Tempo em avalanche</translation>
    </message>
    <message>
        <source>Flood now</source>
        <translation>Avalanche agora</translation>
    </message>
    <message>
        <source>Stale alarms</source>
        <translation>Alarmes persistentes</translation>
    </message>
    <message>
        <source>Chattering alarms</source>
        <translation>Alarmes intermitentes</translation>
    </message>
    <message>
        <source>ISA-18.2: about 1 is manageable, more than 2 demanding.</source>
        <translation>ISA-18.2: cerca de 1 é administrável, mais de 2 é exigente.</translation>
    </message>
    <message>
        <source>Share of the period with more alarms than anyone can handle.</source>
        <translation>Parte do período com mais alarmes do que alguém consegue tratar.</translation>
    </message>
    <message>
        <source>Active for longer than the plant&apos;s stale limit.</source>
        <translation>Ativos há mais tempo que o limite da planta.</translation>
    </message>
    <message>
        <source>Raised again and again within a short time.</source>
        <translation>Disparados repetidamente em pouco tempo.</translation>
    </message>
    <message>
        <source>Most frequent alarms</source>
        <translation>Alarmes mais frequentes</translation>
    </message>
    <message>
        <source>Alarm</source>
        <translation>Alarme</translation>
    </message>
    <message>
        <source>Times raised</source>
        <translation>Disparos</translation>
    </message>
</context>
<context>
    <name>CloudPanel</name>
    <message>
        <source>Switching cloud sync…</source>
        <translation>Alternando a sincronização com a nuvem…</translation>
    </message>
    <message>
        <source>Cloud sync was not switched: %1</source>
        <translation>A sincronização com a nuvem não foi alternada: %1</translation>
    </message>
    <message>
        <source>Log in to switch cloud sync</source>
        <translation>Entre para ligar ou desligar a sincronização com a nuvem</translation>
    </message>
    <message>
        <source>Not set up: the plant file has no cloud section.</source>
        <translation>Não configurada: o arquivo da planta não tem a seção cloud.</translation>
    </message>
    <message>
        <source>Off: nothing leaves this machine.</source>
        <translation>Desligada: nenhum dado sai desta máquina.</translation>
    </message>
    <message>
        <source>On, connected to the broker.</source>
        <translation>Ligada, conectada ao broker.</translation>
    </message>
    <message>
        <source>On, not connected: retrying; the backlog waits in the historian.</source>
        <translation>Ligada, sem conexão: tentando de novo; os pendentes aguardam no historiador.</translation>
    </message>
    <message>
        <source>%1 samples/s</source>
        <translation>%1 amostras/s</translation>
    </message>
    <message>
        <source>confirmations off</source>
        <translation>confirmações desligadas</translation>
    </message>
    <message>
        <source>%1 (%2 sent again)</source>
        <translation>%1 (%2 reenviadas)</translation>
    </message>
    <message>
        <source>none</source>
        <translation>nenhum</translation>
    </message>
    <message>
        <source>Switch off</source>
        <translation>Desligar</translation>
    </message>
    <message>
        <source>Switch on</source>
        <translation>Ligar</translation>
    </message>
    <message>
        <source>Only a manager or an administrator may switch cloud sync (log in first).</source>
        <translation>Só um gerente ou um administrador pode ligar ou desligar a sincronização (entre primeiro).</translation>
    </message>
    <message>
        <source>Cloud sync</source>
        <translation>Sincronização com a nuvem</translation>
    </message>
    <message>
        <source>Backlog (samples)</source>
        <translation>Pendentes (amostras)</translation>
    </message>
    <message>
        <source>Oldest unsent</source>
        <translation>Mais antiga não enviada</translation>
    </message>
    <message>
        <source>Publish rate</source>
        <translation>Taxa de envio</translation>
    </message>
    <message>
        <source>Retries</source>
        <translation>Novas tentativas</translation>
    </message>
    <message>
        <source>Gaps</source>
        <translation>Lacunas</translation>
    </message>
    <message>
        <source>Not yet confirmed by the backend</source>
        <translation>Ainda não confirmadas pelo servidor</translation>
    </message>
    <message>
        <source>Last error</source>
        <translation>Último erro</translation>
    </message>
</context>
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
        <source>Export a diagnostics bundle</source>
        <translation>Exportar pacote de diagnóstico</translation>
    </message>
    <message>
        <source>Zip archives (*.zip)</source>
        <translation>Arquivos zip (*.zip)</translation>
    </message>
    <message>
        <source>Writing the diagnostics bundle…</source>
        <translation>Gravando o pacote de diagnóstico…</translation>
    </message>
    <message>
        <source>Diagnostics bundle written to %1</source>
        <translation>Pacote de diagnóstico gravado em %1</translation>
    </message>
    <message>
        <source>The diagnostics bundle could not be written to %1: %2</source>
        <translation>Não foi possível gravar o pacote de diagnóstico em %1: %2</translation>
    </message>
    <message>
        <source>Connections</source>
        <translation>Conexões</translation>
    </message>
    <message>
        <source>Export diagnostics bundle…</source>
        <translation>Exportar pacote de diagnóstico…</translation>
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
    <name>DowntimeScreen</name>
    <message>
        <source>since %1</source>
        <translation>desde %1</translation>
    </message>
    <message>
        <source>Coded</source>
        <translation>Apontada</translation>
    </message>
    <message>
        <source>Partly coded</source>
        <translation>Apontada em parte</translation>
    </message>
    <message>
        <source>Not coded</source>
        <translation>Não apontada</translation>
    </message>
    <message>
        <source>Ongoing · %1</source>
        <translation>Em curso · %1</translation>
    </message>
    <message>
        <source>Stops</source>
        <translation>Paradas</translation>
    </message>
    <message>
        <source>No shift running</source>
        <translation>Nenhum turno em andamento</translation>
    </message>
    <message>
        <source>Shift %1, %2 – %3</source>
        <translation>Turno %1, %2 – %3</translation>
    </message>
    <message>
        <source>No stops in this shift</source>
        <translation>Nenhuma parada neste turno</translation>
    </message>
    <message>
        <source>Stops not coded: %1</source>
        <translation>Paradas não apontadas: %1</translation>
    </message>
    <message>
        <source>All stops coded</source>
        <translation>Todas as paradas apontadas</translation>
    </message>
    <message>
        <source>Micro-stops not listed: %1 (%2 in all); they count as a loss of performance.</source>
        <translation>Micro-paradas fora da lista: %1 (%2 no total); contam como perda de desempenho.</translation>
    </message>
    <message>
        <source>Stop since %1 (%2, ongoing)</source>
        <translation>Parada desde %1 (%2, em curso)</translation>
    </message>
    <message>
        <source>Stop %1 – %3 (%2)</source>
        <translation>Parada %1 – %3 (%2)</translation>
    </message>
    <message>
        <source>at %1 (%2 after the start)</source>
        <translation>às %1 (%2 após o início)</translation>
    </message>
    <message>
        <source>Part before %1</source>
        <translation>Parte antes de %1</translation>
    </message>
    <message>
        <source>Part from %1</source>
        <translation>Parte a partir de %1</translation>
    </message>
    <message>
        <source>Code the part</source>
        <translation>Apontar a parte</translation>
    </message>
    <message>
        <source>Code the stop</source>
        <translation>Apontar a parada</translation>
    </message>
    <message>
        <source>Comment</source>
        <translation>Comentário</translation>
    </message>
    <message>
        <source>Log in to code the stop</source>
        <translation>Entre para apontar a parada</translation>
    </message>
    <message>
        <source>Coded: %1</source>
        <translation>Apontada: %1</translation>
    </message>
    <message>
        <source>◀ Machine</source>
        <translation>◀ Máquina</translation>
    </message>
    <message>
        <source>Enter rejects…</source>
        <translation>Lançar refugos…</translation>
    </message>
    <message>
        <source>Choose a stop on the left to code it.</source>
        <translation>Escolha uma parada à esquerda para apontá-la.</translation>
    </message>
    <message>
        <source>The machine has not stopped in this shift.</source>
        <translation>A máquina não parou neste turno.</translation>
    </message>
    <message>
        <source>Whole stop</source>
        <translation>Parada inteira</translation>
    </message>
    <message>
        <source>Split…</source>
        <translation>Dividir…</translation>
    </message>
    <message>
        <source>+%1 min</source>
        <translation>+%1 min</translation>
    </message>
    <message>
        <source>−%1 min</source>
        <translation>−%1 min</translation>
    </message>
    <message>
        <source>Category</source>
        <translation>Categoria</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Motivo</translation>
    </message>
    <message>
        <source>Choose a category first.</source>
        <translation>Escolha primeiro uma categoria.</translation>
    </message>
    <message>
        <source>Comment (optional)</source>
        <translation>Comentário (opcional)</translation>
    </message>
    <message>
        <source>Keyboard</source>
        <translation>Teclado</translation>
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
    <name>FleetScreen</name>
    <message>
        <source>The fleet view is not set up: give the fleet API&apos;s address and key in the plant file (cloud: api_url, api_key_file) or in %1 and %2.</source>
        <translation>A visão da frota não está configurada: informe o endereço e a chave da API da frota no arquivo da planta (cloud: api_url, api_key_file) ou em %1 e %2.</translation>
    </message>
    <message>
        <source>The fleet API refused the API key (%1). Ask for a valid key.</source>
        <translation>A API da frota recusou a chave de API (%1). Peça uma chave válida.</translation>
    </message>
    <message>
        <source>The fleet API gave an answer this screen cannot read (%1).</source>
        <translation>A API da frota deu uma resposta que esta tela não consegue ler (%1).</translation>
    </message>
    <message>
        <source>The fleet API cannot be reached (%1). Retrying every 30 s.</source>
        <translation>A API da frota não responde (%1). Nova tentativa a cada 30 s.</translation>
    </message>
    <message>
        <source>%1 · %2 machines</source>
        <translation>%1 · %2 máquinas</translation>
    </message>
    <message>
        <source>Updated %1</source>
        <translation>Atualizado às %1</translation>
    </message>
    <message>
        <source>All sites</source>
        <translation>Todas as plantas</translation>
    </message>
    <message>
        <source>(no line)</source>
        <translation>(sem linha)</translation>
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
        <source>edge offline</source>
        <translation>borda desconectada</translation>
    </message>
    <message>
        <source>Fleet</source>
        <translation>Frota</translation>
    </message>
    <message>
        <source>Current shift</source>
        <translation>Turno atual</translation>
    </message>
    <message>
        <source>Today</source>
        <translation>Hoje</translation>
    </message>
    <message>
        <source>This week</source>
        <translation>Esta semana</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Atualizar</translation>
    </message>
    <message>
        <source>Site / line / machine</source>
        <translation>Planta / linha / máquina</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>For</source>
        <translation>Há</translation>
    </message>
    <message>
        <source>Good parts</source>
        <translation>Peças boas</translation>
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
        <source>No active alarms on this machine</source>
        <translation>Nenhum alarme ativo nesta máquina</translation>
    </message>
    <message>
        <source>for %1</source>
        <translation>há %1</translation>
    </message>
    <message>
        <source>Code stops (%1)</source>
        <translation>Apontar paradas (%1)</translation>
    </message>
    <message>
        <source>Code stops</source>
        <translation>Apontar paradas</translation>
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
        <source>Enter rejects…</source>
        <translation>Lançar refugos…</translation>
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
        <source>Alarms of this machine</source>
        <translation>Alarmes desta máquina</translation>
    </message>
    <message>
        <source>Alarms ▶</source>
        <translation>Alarmes ▶</translation>
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
    <message>
        <source>an alarm is unacknowledged</source>
        <translation>um alarme não reconhecido</translation>
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
        <source>Stops</source>
        <translation>Paradas</translation>
    </message>
    <message>
        <source>Reports</source>
        <translation>Relatórios</translation>
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
        <source>Alarms</source>
        <translation>Alarmes</translation>
    </message>
    <message>
        <source>Fleet</source>
        <translation>Frota</translation>
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
    <message>
        <source>%1 — %2 · OEE %3 %</source>
        <translation>%1 — %2 · OEE %3 %</translation>
    </message>
</context>
<context>
    <name>RejectDialog</name>
    <message>
        <source>Rejects</source>
        <translation>Refugos</translation>
    </message>
    <message>
        <source>Rejects of %1</source>
        <translation>Refugos de %1</translation>
    </message>
    <message>
        <source>How many</source>
        <translation>Quantidade</translation>
    </message>
    <message>
        <source>Keypad</source>
        <translation>Teclado numérico</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Motivo</translation>
    </message>
    <message>
        <source>Comment (optional)</source>
        <translation>Comentário (opcional)</translation>
    </message>
    <message>
        <source>Keyboard</source>
        <translation>Teclado</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancelar</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Salvar</translation>
    </message>
    <message>
        <source>How many rejects</source>
        <translation>Quantos refugos</translation>
    </message>
    <message>
        <source>Comment</source>
        <translation>Comentário</translation>
    </message>
    <message>
        <source>Enter the number of rejects as a whole number, such as 3.</source>
        <translation>Digite a quantidade de refugos como número inteiro, por exemplo 3.</translation>
    </message>
    <message>
        <source>The number of rejects must be at least 1. Nothing was saved.</source>
        <translation>A quantidade de refugos deve ser pelo menos 1. Nada foi salvo.</translation>
    </message>
    <message>
        <source>At most %1 rejects at a time.</source>
        <translation>No máximo %1 refugos por vez.</translation>
    </message>
    <message>
        <source>Choose the reason for the rejects.</source>
        <translation>Escolha o motivo dos refugos.</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>Salvando…</translation>
    </message>
    <message>
        <source>Log in to enter rejects</source>
        <translation>Entre para lançar refugos</translation>
    </message>
</context>
<context>
    <name>ReportPdf</name>
    <message>
        <source>Production report</source>
        <translation>Relatório de produção</translation>
    </message>
    <message>
        <source>Plant</source>
        <translation>Fábrica</translation>
    </message>
    <message>
        <source>Scope</source>
        <translation>Abrangência</translation>
    </message>
    <message>
        <source>Period</source>
        <translation>Período</translation>
    </message>
    <message>
        <source>Generated</source>
        <translation>Gerado em</translation>
    </message>
    <message>
        <source>OEE by machine</source>
        <translation>OEE por máquina</translation>
    </message>
    <message>
        <source>Machine</source>
        <translation>Máquina</translation>
    </message>
    <message>
        <source>Avail.</source>
        <translation>Disp.</translation>
    </message>
    <message>
        <source>Perf.</source>
        <translation>Desemp.</translation>
    </message>
    <message>
        <source>Quality</source>
        <translation>Qualidade</translation>
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
        <source>Good</source>
        <translation>Boas</translation>
    </message>
    <message>
        <source>Rejects</source>
        <translation>Refugos</translation>
    </message>
    <message>
        <source>Time down</source>
        <translation>Tempo parado</translation>
    </message>
    <message>
        <source>MTBF</source>
        <translation>MTBF</translation>
    </message>
    <message>
        <source>MTTR</source>
        <translation>MTTR</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>Total</translation>
    </message>
    <message>
        <source>Without OEE (no shift calendar or OEE settings): %1</source>
        <translation>Sem OEE (sem calendário de turnos ou configuração de OEE): %1</translation>
    </message>
    <message>
        <source>Shifts</source>
        <translation>Turnos</translation>
    </message>
    <message>
        <source>Shift</source>
        <translation>Turno</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>Início</translation>
    </message>
    <message>
        <source>Top losses</source>
        <translation>Maiores perdas</translation>
    </message>
    <message>
        <source>No losses in this period.</source>
        <translation>Nenhuma perda neste período.</translation>
    </message>
    <message>
        <source>Loss</source>
        <translation>Perda</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>Tempo</translation>
    </message>
    <message>
        <source>Events</source>
        <translation>Ocorrências</translation>
    </message>
    <message>
        <source>Downtime</source>
        <translation>Paradas</translation>
    </message>
    <message>
        <source>No stops in this period.</source>
        <translation>Nenhuma parada neste período.</translation>
    </message>
    <message>
        <source>End</source>
        <translation>Fim</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>Duração</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Motivo</translation>
    </message>
    <message>
        <source>Coded by</source>
        <translation>Apontado por</translation>
    </message>
    <message>
        <source>ongoing</source>
        <translation>em curso</translation>
    </message>
    <message>
        <source>Micro-stops not listed: %1 (%2 in all); they count as a loss of performance.</source>
        <translation>Micro-paradas fora da lista: %1 (%2 no total); contam como perda de desempenho.</translation>
    </message>
</context>
<context>
    <name>ReportWords</name>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>%1 min</source>
        <translation>%1 min</translation>
    </message>
    <message>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <source>Current shift</source>
        <translation>Turno atual</translation>
    </message>
    <message>
        <source>Previous shift</source>
        <translation>Turno anterior</translation>
    </message>
    <message>
        <source>Today</source>
        <translation>Hoje</translation>
    </message>
    <message>
        <source>Yesterday</source>
        <translation>Ontem</translation>
    </message>
    <message>
        <source>This week</source>
        <translation>Esta semana</translation>
    </message>
    <message>
        <source>Last 7 days</source>
        <translation>Últimos 7 dias</translation>
    </message>
    <message>
        <source>Not coded</source>
        <translation>Não apontada</translation>
    </message>
    <message>
        <source>Not coded: %1</source>
        <translation>Não apontada: %1</translation>
    </message>
    <message>
        <source>Micro-stops</source>
        <translation>Micro-paradas</translation>
    </message>
    <message>
        <source>Speed loss</source>
        <translation>Perda de velocidade</translation>
    </message>
    <message>
        <source>Quality loss</source>
        <translation>Perda de qualidade</translation>
    </message>
</context>
<context>
    <name>ReportsScreen</name>
    <message>
        <source>Whole plant</source>
        <translation>Fábrica inteira</translation>
    </message>
    <message>
        <source>Line %1</source>
        <translation>Linha %1</translation>
    </message>
    <message>
        <source>Reports need the historian, which is not running.</source>
        <translation>Os relatórios precisam do histórico, que não está em execução.</translation>
    </message>
    <message>
        <source>No shift calendar for this choice: pick a day or week.</source>
        <translation>Sem calendário de turnos para esta escolha: escolha um dia ou uma semana.</translation>
    </message>
    <message>
        <source>Building the report…</source>
        <translation>Montando o relatório…</translation>
    </message>
    <message>
        <source>The report failed: %1</source>
        <translation>O relatório falhou: %1</translation>
    </message>
    <message>
        <source>%1 · %2: %3 – %4 · built at %5</source>
        <translation>%1 · %2: %3 – %4 · gerado às %5</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>Total</translation>
    </message>
    <message>
        <source>ongoing</source>
        <translation>em curso</translation>
    </message>
    <message>
        <source>Micro-stops not listed: %1 (%2 in all); they count as a loss of performance.</source>
        <translation>Micro-paradas fora da lista: %1 (%2 no total); contam como perda de desempenho.</translation>
    </message>
    <message>
        <source>Export the report as CSV</source>
        <translation>Exportar o relatório em CSV</translation>
    </message>
    <message>
        <source>Export the report as PDF</source>
        <translation>Exportar o relatório em PDF</translation>
    </message>
    <message>
        <source>Writing %1…</source>
        <translation>Gravando %1…</translation>
    </message>
    <message>
        <source>Saved to %1</source>
        <translation>Salvo em %1</translation>
    </message>
    <message>
        <source>Not saved: %1</source>
        <translation>Não salvo: %1</translation>
    </message>
    <message>
        <source>Reports</source>
        <translation>Relatórios</translation>
    </message>
    <message>
        <source>Update</source>
        <translation>Atualizar</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>Exportar CSV…</translation>
    </message>
    <message>
        <source>Export PDF…</source>
        <translation>Exportar PDF…</translation>
    </message>
    <message>
        <source>Top losses</source>
        <translation>Maiores perdas</translation>
    </message>
    <message>
        <source>No losses in this period.</source>
        <translation>Nenhuma perda neste período.</translation>
    </message>
    <message>
        <source>Downtime</source>
        <translation>Paradas</translation>
    </message>
    <message>
        <source>Machine</source>
        <translation>Máquina</translation>
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
        <source>OEE</source>
        <translation>OEE</translation>
    </message>
    <message>
        <source>Parts</source>
        <translation>Peças</translation>
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
        <source>Time down</source>
        <translation>Tempo parado</translation>
    </message>
    <message>
        <source>MTBF</source>
        <translation>MTBF</translation>
    </message>
    <message>
        <source>MTTR</source>
        <translation>MTTR</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>Início</translation>
    </message>
    <message>
        <source>End</source>
        <translation>Fim</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>Duração</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Motivo</translation>
    </message>
    <message>
        <source>Coded by</source>
        <translation>Apontado por</translation>
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
